#!/usr/bin/env python3
"""Thin entry point for `make bench`; the logic is asicdv.tools.bench."""

from asicdv.tools.bench import main

raise SystemExit(main())
