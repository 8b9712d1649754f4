"""citizenbot: the chat and LINE bot of Kaohsiung City's citizen services."""
