"""Interview season: the log, `due`, and thank-you notes that follow the clock."""

THANK_YOU = """Kind: thank-you
Subject: Thank you for my interview at {{ program }}

Dear {{ interviewer }},

Thank you for speaking with me at {{ program }} about {{ note }}.

Best regards,
Asha Rao
"""

# Seen from OUTREACH_NOW=2026-12-01T15:00:00Z (10:00 in New York):
LOG = """program,interviewer,role,email,interview_date,interview_time,time_zone,policy,note
Lakeshore,Dr. Maria Lopez,Program Director,m.lopez@lakeshore.example.edu,Nov 12,09:00,CT,,the night rotation
Northfield,Dr. Ingrid Sorensen,Program Director,i.sorensen@northfield.example.org,11/30/2026,1:30 PM,ET,Notes welcome,stroke imaging
Eastbrook,Dr. Amelie Cote,Chair,a.cote@eastbrook.example.edu,2026-12-03,09:00,MST,,the AI pilot
Harbour,Dr. Hans Weber,Program Director,h.weber@harbour.example.de,28 November 2026,10:00,Europe/Berlin,No post-interview communication,x
Harbour,Dr. Jana Novak,Associate PD,j.novak@harbour.example.de,28 November 2026,11:00,Europe/Berlin,,the wards
"""
NOW = "2026-12-01T15:00:00Z"
