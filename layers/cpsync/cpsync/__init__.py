"""cpsync: sync an NCR Counterpoint database to Magento 2, on AWS or on one machine."""
