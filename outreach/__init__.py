"""outreach: tailored mentor-outreach and thank-you emails from a CSV, sent safely and tracked."""

__version__ = "0.1.0"
