"""The caseworker web app: server-rendered pages and a JSON API over the service layer."""
