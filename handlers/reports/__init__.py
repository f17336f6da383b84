"""What the working group reads: the agency's figures, the summary message and
charts, the OCSC workbook and the CSV table. Built from the report read model
(`storage.reports`) and content, with no conversation, so /summary, the weekly
post, /export and `dlcoach report` say exactly the same thing.
"""
