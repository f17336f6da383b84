"""Pure renderers: charts (PNG), certificates (PDF), workbooks (XLSX), CSV and
Thai dates.

Every text shown in a document is passed in by the caller (it comes from the
content files); these modules only lay it out, in the Sarabun font. They
import nothing of the bot, so they can run anywhere: in a worker thread at
delivery, in an export, in a test.
"""
