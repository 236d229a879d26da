#!/usr/bin/env python3
"""Thin entry point for `make bench`; the logic is asicdv.bench."""

from asicdv.bench import main

raise SystemExit(main())
