"""Exports of a workshop's answers for facilitators: CSV, XLSX, JSON and a ZIP of recordings.

The bot and the command line both call `bot.exports.run.export_workshop`, so a file made in
the chat and one made on the server are the same file. Every writer streams: rows are written
as the database hands them over, so 100,000 answers take as little memory as 100.
"""
