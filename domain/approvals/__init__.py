"""Refunds, credits and cancellations decided by authority level (`ApprovalWorkflow`)."""
