#!/bin/sh
# Temporal bootstrap for docker-compose.yml. It runs in the temporalio/admin-tools
# image, which has busybox sh and no bash, so this script is POSIX sh.
#
#   temporal-setup.sh schema     creates the `temporal` and `temporal_visibility`
#                                databases (if the role may) and brings both schemas
#                                up to date with temporal-sql-tool. Runs before the
#                                server starts.
#   temporal-setup.sh namespace  waits for the server, creates the namespace and
#                                registers the ticket search attributes. Runs once the
#                                server is healthy.
#
# Both modes are idempotent: compose runs them on every `docker compose up`.
#
# Environment:
#   schema:     SQL_HOST, SQL_PORT (5432), SQL_USER, SQL_PASSWORD (read by
#               temporal-sql-tool itself, never put on a command line), SQL_PLUGIN
#               (postgres12), TEMPORAL_DB (temporal), TEMPORAL_VISIBILITY_DB
#               (temporal_visibility), TEMPORAL_SCHEMA_DIR
#               (/etc/temporal/schema/postgresql/v12)
#   namespace:  TEMPORAL_ADDRESS (temporal:7233), TEMPORAL_NAMESPACE (default),
#               TEMPORAL_NAMESPACE_RETENTION (720h), SEARCH_ATTRIBUTES_SETTLE_SECONDS (15)
set -eu

# The custom search attributes a ticket workflow upserts, as Name=Type with the
# `temporal` CLI's type names. This mirrors workflows/search_attributes.py (ALL_KEYS) and
# ticketflow/search_attributes.py (CLI_TYPE_NAMES); tests/test_compose.py fails when they differ.
SEARCH_ATTRIBUTES='
TicketStatus=Keyword
TicketPriority=Keyword
TicketTeam=Keyword
TicketAssignee=Keyword
TicketChannel=Keyword
CustomerPlan=Keyword
EscalationLevel=Int
SlaBreached=Bool
NextSlaDueAt=Datetime
FailedEffects=KeywordList
IncidentId=Keyword
ApprovalPending=Bool
'

log() {
    printf '%s temporal-setup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

die() {
    log "ERROR: $*" >&2
    exit 1
}

# retry ATTEMPTS DELAY_SECONDS COMMAND [ARG...]: run COMMAND until it succeeds.
retry() {
    retry_attempts=$1
    retry_delay=$2
    shift 2
    retry_n=1
    until "$@"; do
        if [ "$retry_n" -ge "$retry_attempts" ]; then
            log "giving up after $retry_attempts attempts: $*"
            return 1
        fi
        log "not ready yet ($retry_n/$retry_attempts): $*; retrying in ${retry_delay}s"
        retry_n=$((retry_n + 1))
        sleep "$retry_delay"
    done
}

# --- schema -------------------------------------------------------------------

sql_tool() {
    temporal-sql-tool \
        --plugin "${SQL_PLUGIN:-postgres12}" \
        --ep "$SQL_HOST" \
        -p "${SQL_PORT:-5432}" \
        -u "$SQL_USER" \
        "$@"
}

setup_schema() {
    : "${SQL_HOST:?SQL_HOST must name the Postgres host}"
    : "${SQL_USER:?SQL_USER must name the Temporal database role}"
    : "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
    schema_root=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

    for entry in "${TEMPORAL_DB:-temporal}=temporal" \
        "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}=visibility"; do
        db=${entry%%=*}
        versioned="$schema_root/${entry#*=}/versioned"
        [ -d "$versioned" ] || die "no schema directory $versioned in this image"

        # The Postgres init script normally creates the database already; on a
        # server where it does not exist and the role may create databases, this
        # creates it. Any real problem surfaces in setup-schema just below.
        if out=$(sql_tool --db "$db" create 2>&1); then
            log "created database $db"
        else
            log "did not create database $db (it usually exists already): $out"
        fi

        # setup-schema -v 0.0 only adds the version tables (a no-op once the schema
        # is past 0.0); update-schema applies every versioned step not yet applied.
        retry 10 3 sql_tool --db "$db" setup-schema -v 0.0
        retry 10 3 sql_tool --db "$db" update-schema -d "$versioned"
        log "schema of $db is up to date"
    done
}

# --- namespace and search attributes -------------------------------------------

temporal_cli() {
    temporal "$@" --address "$temporal_address"
}

search_attribute_listed() {
    temporal_cli operator search-attribute list --namespace "$namespace" | grep -qw -- "$1"
}

# Registers one search attribute. Fails (to be retried) while the namespace is still
# propagating; exits at once if the name exists with another type.
ensure_search_attribute() {
    sa_name=$1
    sa_type=$2
    # Always ask the CLI, even for a name listed already: it refuses a different type.
    if out=$(temporal_cli operator search-attribute create --namespace "$namespace" \
        --name "$sa_name" --type "$sa_type" 2>&1); then
        if printf '%s\n' "$listed_before" | grep -qw -- "$sa_name"; then
            log "search attribute $sa_name ($sa_type) is already registered"
        else
            log "registered search attribute $sa_name ($sa_type)"
            changed=1
        fi
        return 0
    fi
    case $out in
        *"different type"*) die "$out" ;;
    esac
    # The CLI refuses a different type above, so a listed name has the right one.
    if search_attribute_listed "$sa_name"; then
        log "search attribute $sa_name ($sa_type) is already registered"
        return 0
    fi
    log "could not register $sa_name yet: $out"
    return 1
}

ensure_namespace() {
    if temporal_cli operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
        log "namespace $namespace exists"
        return 0
    fi
    if out=$(temporal_cli operator namespace create --namespace "$namespace" \
        --retention "$retention" \
        --description "ticketflow: one workflow per support ticket" 2>&1); then
        log "created namespace $namespace (retention $retention)"
        changed=1
        return 0
    fi
    log "could not create namespace $namespace yet: $out"
    return 1
}

setup_namespace() {
    namespace=${TEMPORAL_NAMESPACE:-default}
    retention=${TEMPORAL_NAMESPACE_RETENTION:-720h}
    temporal_address=${TEMPORAL_ADDRESS:-temporal:7233}
    changed=0

    # Dial the server's IPv4 address, as upstream's compose scripts
    # (temporalio/samples-server, create-namespace.sh) do to work around a name
    # resolution problem; fall back to the host name if it does not resolve.
    host=${temporal_address%:*}
    port=${temporal_address##*:}
    ip=$(getent ahosts "$host" 2>/dev/null |
        awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }') || ip=
    if [ -n "$ip" ]; then
        temporal_address="$ip:$port"
    fi
    log "using Temporal at $temporal_address (namespace $namespace)"

    retry 60 5 temporal_cli operator cluster health
    retry 20 3 ensure_namespace

    listed_before=$(temporal_cli operator search-attribute list --namespace "$namespace" 2>/dev/null) ||
        listed_before=
    # Word splitting on purpose: one Name=Type entry per word.
    # shellcheck disable=SC2086
    for entry in $SEARCH_ATTRIBUTES; do
        retry 20 3 ensure_search_attribute "${entry%%=*}" "${entry#*=}"
    done
    # shellcheck disable=SC2086
    for entry in $SEARCH_ATTRIBUTES; do
        search_attribute_listed "${entry%%=*}" ||
            die "search attribute ${entry%%=*} is missing after registration"
    done

    if [ "$changed" -eq 1 ]; then
        # Every server role caches namespace metadata and refreshes it within about
        # ten seconds; let a fresh namespace and its attributes reach all of them
        # before the worker and API (which wait for this job) start using them.
        settle=${SEARCH_ATTRIBUTES_SETTLE_SECONDS:-15}
        log "waiting ${settle}s for the server's namespace caches to refresh"
        sleep "$settle"
    fi
    log "namespace $namespace and its search attributes are ready"
}

case "${1:-}" in
    schema) setup_schema ;;
    namespace) setup_namespace ;;
    *)
        echo "usage: $0 schema|namespace" >&2
        exit 2
        ;;
esac
