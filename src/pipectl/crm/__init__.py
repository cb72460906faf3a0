"""What pipectl knows of other CRMs' exports, as data: one TOML profile per CRM in this
folder (``hubspot.toml``, ``salesforce.toml``, ``pipedrive.toml``), read by
``pipectl.core.crm``. Adding a CRM is adding a file; no code branches on a CRM's name."""
