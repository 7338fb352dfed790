"""The Salesforce adapter: simple-salesforce over a retrying session, a local mirror,
compare-and-set writes through sObject Collections or Bulk API 2.0."""

from roleSync.adapters.salesforce.adapter import SalesforceAdapter

__all__ = ["SalesforceAdapter"]
