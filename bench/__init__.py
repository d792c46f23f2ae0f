"""Benchmarks of django_livechat against a straightforward DRF view and the database floor."""
