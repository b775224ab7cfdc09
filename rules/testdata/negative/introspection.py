# Database schema introspection for a reporting tool.
from urllib.parse import urlparse
import urllib.request

TABLES_SQL = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
COLUMNS_SQL = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s"

def tables(cursor, schema):
    cursor.execute(TABLES_SQL, [schema])
    return [r[0] for r in cursor.fetchall()]

def fetch_dictionary(url):
    with urllib.request.urlopen(url) as r:
        return r.read().decode()
