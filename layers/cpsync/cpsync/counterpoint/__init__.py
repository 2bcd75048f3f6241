"""Reading Counterpoint (SQL Server): the connection, the schema cpsync reads, the queries."""
