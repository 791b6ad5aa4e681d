"""Mail: the queue of every e-mail Alcance sends (reminders, sign-in links, invitations, assignments),
its rendering in the reader's language and its delivery over SMTP. Features queue; the scheduler delivers."""
