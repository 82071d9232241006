// Transport: placeholder
