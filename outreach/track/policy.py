"""When a follow-up falls due by default: shared by `followup` and `status` (and their help)."""

DEFAULT_AFTER = "7d"   # the last message left at least this long ago
DEFAULT_MAX = 1        # follow-ups per contact
