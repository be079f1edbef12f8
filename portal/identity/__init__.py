"""Who someone is: users and their admin roles, passwords, sessions, sign-in and
registration. The use cases that the sign-in pages, the Account area and the CLI call."""
