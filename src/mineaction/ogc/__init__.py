"""OGC API - Features (``/ogc``) for GIS clients: GDAL, QGIS."""
