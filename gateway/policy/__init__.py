"""Policies: the reviewable flows that say which data may move between which agency kinds."""
