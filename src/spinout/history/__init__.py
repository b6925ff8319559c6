"""History stage: split the source history into one repository per target, in one walk."""
