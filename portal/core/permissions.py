"""The recipient permissions a secure message carries, in the order every screen
lists them, with the label a person sees (DESIGN.md)."""

RECIPIENT_PERMISSIONS = (
    ("allow_reply", "Allow reply"),
    ("allow_reply_all", "Allow reply all"),
    ("allow_forward", "Allow forward"),
    ("allow_print", "Allow print"),
    ("read_receipt", "Read receipt"),
)
PERMISSION_NAMES = tuple(name for name, _label in RECIPIENT_PERMISSIONS)
