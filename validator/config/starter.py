"""The files `backflush init` starts a project with, besides the questionnaire: a commented backflush.yaml and an
empty waivers file. Both are valid as written (tests load them with the tool's own readers)."""

from __future__ import annotations

CONFIG = """\
# backflush.yaml: how backflush-validator checks this site. Read from the current folder by default, or give it with
# --config FILE. Every key is optional; schemas/config.schema.json says what each may hold.

# the lowest severity that makes 'backflush check' exit 1 (a CI gate): error, warning, info or never
fail_on: error

# the jobs the eligibility and integrity rules judge: open (neither complete nor closed) or all
jobs: open

# the readiness thresholds: a shipped preset (default, strict) or a profile file
profile: default

# known exceptions accepted until a date (by-products, fixed-quantity consumables): see the file for its form
waivers: waivers.yaml

# how values exported as text read, when the values alone cannot tell: auto, month-first or day-first; auto, point
# or comma
# date_order: auto
# decimal_separator: auto

# tables whose export may hold no rows yet (a site without jobs before go-live)
# empty_tables: [JobHead, JobMtl, JobOper, JobAsmbl]

# an export named otherwise than its table, or a column under a header of the site's own
# exports:
#   JobMtl:
#     file: BAQ JobMaterials 2026-11.csv
#     columns: {PartNum: Material}

# a rule switched off, made stricter or given other parameters (backflush explain RULE names them)
# rules:
#   BFC009: {enabled: false}
#   BFR002: {severity: error, params: {max_scrap_rate: 0.02}}

# folders of your own rule files, added to the built-in ones
# rule_dirs: [my-rules]
"""

WAIVERS = """\
# Waivers: findings accepted until a date. A waived finding is marked WAIVED in every report and never fails the
# gate; once a waiver expires it waives nothing and is reported. Each entry names the rule, the key of the findings
# (key columns: exact values or globs with * and ?, any case), why, who owns it, a ticket and the last day it holds.
#
# waivers:
#   - rule: BFC014
#     key: {Company: EPIC06, JobNum: "0051*"}
#     reason: scrap is recovered as a by-product on purpose
#     owner: Jane Doe (cost accounting)
#     ticket: ERP-1234
#     expires: 2027-03-31
waivers: []
"""
