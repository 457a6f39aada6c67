"""Scrapy spiders, one module per source type (feed, ical, page, html, json, csv)."""
