"""Platform-neutral documents: charts (PNG), certificates (PDF) and Thai dates.

Every text shown in a document is passed in by the caller (it comes from the
content files); these modules only lay it out, in the Sarabun font.
"""
