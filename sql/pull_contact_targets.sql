-- The phones `sdsync contacts sync` manages: the group contacts the pull reads back.
SELECT customer, group_service, phone FROM contact_state
