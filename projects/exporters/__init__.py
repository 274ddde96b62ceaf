"""Writers for every export format, and the export job that uses them."""
