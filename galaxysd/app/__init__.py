"""What only the Streamlit pages use: shared widgets, the app's files and database, background
jobs, the training launcher, charts, the quiz, downloads and the browser driver for tests.
May import every other subpackage; nothing outside the pages imports it.
"""
