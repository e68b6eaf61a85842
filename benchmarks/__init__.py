"""Benchmarks for msgflash_async: the SDK side by side with raw aiohttp, same run.

Run ``python -m benchmarks`` (all) or ``python -m benchmarks NAME ...``; see README.md.
"""
