"""The chart as data: patient finder, banner, summary, results, trends and documents.

Plain services over the RecordService (every read audited there) that return dataclasses the
web shell renders; nothing here knows HTML or HTTP.
"""
