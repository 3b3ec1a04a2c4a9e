"""Seeding Yeko's schema with schools, years, students and marks."""
