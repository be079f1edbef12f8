"""Every kind of audit log entry the portal writes, by category (the Audit Logs filters)."""
from ..models import AuditCategory

AUDIT_TYPES = {
    AuditCategory.SECURE_MESSAGING: [
        "Secure Messaging - Sent",
        "Secure Messaging - Sender Recalled",
        "Secure Messaging - Admin Recalled",
        "Secure Messaging - Admin Recall Refused",
    ],
    AuditCategory.AUTHENTICATION: [
        "Authentication - Signed In",
        "Authentication - Sign In Failed",
        "Authentication - Signed Out",
        "Authentication - Registered",
        "Authentication - Password Changed",
        "Authentication - Password Change Failed",
    ],
    AuditCategory.ACCOUNT: [
        "Account - User Created",
        "Account - Settings Changed",
        "Account - Admin Role Changed",
        "Account - Audit Log Exported",
    ],
}
CATEGORIES = list(AUDIT_TYPES)
