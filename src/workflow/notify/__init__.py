"""Notifications: rendering what a department is told, and delivering it (SMTP, webhook, file)."""
