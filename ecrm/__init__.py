"""The ecrm command line and the embedded local stack."""
