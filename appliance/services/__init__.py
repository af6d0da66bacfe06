"""Service layer: each public function owns its transaction, checks permissions,
writes the timeline in the same transaction, enqueues work after commit and
returns DTOs. Errors are `appliance.errors` exceptions."""
