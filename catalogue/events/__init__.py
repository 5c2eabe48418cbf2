"""Change events leaving Brygge: the Atom feed, webhook deliveries, OpenLineage run events.

The events themselves are written by the repositories, in each change's own transaction
(``catalogue.repositories.change_events``); this package only reads and sends them.
"""
