"""The C boundary, C to Python: the plugin API declarations, constants, and the dlopen adapter."""
