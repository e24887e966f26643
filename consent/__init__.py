"""The consent domain: reference vocabulary, consent records and the checks on them.

This package is free of web-framework imports so it can be reasoned about and tested on its own.
"""
