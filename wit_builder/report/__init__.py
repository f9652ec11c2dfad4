"""Reports for people: pages an auditor opens offline, computed from a stage's own outputs."""
