"""The platform every eCRM service stands on."""
