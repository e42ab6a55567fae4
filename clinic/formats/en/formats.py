"""US English dates and times for templates' ``date`` filter, matching clinic/local_time.py (the one house style):
"Wed, Mar 3, 2027", "Wed, Mar 3, 2027, 9:00 AM EST", "9:00 AM EST". Django reads this module for LANGUAGE_CODE
"en-us" through FORMAT_MODULE_PATH; templates name the formats ("DATE_FORMAT", "DATETIME_FORMAT", ...)."""

DATE_FORMAT = "D, M j, Y"
DATETIME_FORMAT = "D, M j, Y, g:i A T"
TIME_FORMAT = "g:i A T"
MONTH_DAY_FORMAT = "M j"
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "M j, Y"
SHORT_DATETIME_FORMAT = "M j, Y, g:i A"
