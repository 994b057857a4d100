"""File formats (report JSON, ODK/Kobo, GIS files via pyogrio): parse into core objects."""
