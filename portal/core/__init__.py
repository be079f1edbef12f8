"""Plain values and rules that every layer shares: times and day ranges, page
numbers, email addresses, recipient permissions, the facts about a client.
Nothing here touches the request or the database."""
