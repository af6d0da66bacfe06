"""Initial schema: organisation, customers, tickets, conversation, timeline, links, jobs."""
from peewee import *


def up(migrator, db):
    class Department(Model):
        code = CharField(unique=True, max_length=32)
        name = CharField(max_length=100)
        name_en = CharField(max_length=100, default='')
        active = BooleanField(default=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'department'
    db.create_tables([Department])

    class Customer(Model):
        name = CharField(max_length=200)
        company = CharField(max_length=200, default='')
        tags = JSONField(default=list)
        notes = TextField(default='')
        created_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'customer'
    db.create_tables([Customer])

    class User(Model):
        username = CharField(unique=True, max_length=64)
        display_name = CharField(max_length=100)
        email = CharField(max_length=254, default='')
        role = CharField(index=True, max_length=16)
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        password_hash = CharField(default='')
        active = BooleanField(default=True)
        must_change_password = BooleanField(default=False)
        locale = CharField(max_length=8, default='')
        capacity = IntegerField(default=10)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class Skill(Model):
        name = CharField(unique=True, max_length=100)
        description = CharField(default='')
        class Meta:
            database = db
            table_name = 'skill'
    db.create_tables([Skill])

    class AgentSkill(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        skill = ForeignKeyField(Skill, on_delete='CASCADE')
        level = SmallIntegerField()
        class Meta:
            database = db
            table_name = 'agent_skill'
            indexes = ((('user', 'skill'), True),)
    db.create_tables([AgentSkill])

    class ApiToken(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=100)
        prefix = CharField(max_length=16)
        token_hash = CharField(unique=True, max_length=64)
        created_at = DateTimeField()
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'api_token'
    db.create_tables([ApiToken])

    class Category(Model):
        name = CharField(max_length=100)
        parent = ForeignKeyField('self', null=True, on_delete='RESTRICT')
        path = CharField(max_length=500, default='')
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'category'
            indexes = ((('parent', 'name'), True),)
    db.create_tables([Category])

    class Ticket(Model):
        number = CharField(unique=True, max_length=32)
        subject = CharField()
        description = TextField(default='')
        channel = CharField(max_length=16, default='web')
        status = CharField(max_length=24, default='new')
        is_open = BooleanField(default=True)
        priority = SmallIntegerField(default=3)
        urgency = CharField(max_length=8, default='medium')
        category = ForeignKeyField(Category, null=True, on_delete='SET NULL')
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        assignee = ForeignKeyField(User, null=True, on_delete='SET NULL')
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        requester = ForeignKeyField(User, null=True, on_delete='SET NULL')
        custom_fields = JSONField(default=dict)
        due_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        first_response_at = DateTimeField(null=True)
        resolved_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)
        merged_into = ForeignKeyField('self', null=True, on_delete='SET NULL')
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'ticket'
            indexes = ((('assignee', 'is_open', 'id'), False), (('department', 'is_open', 'assignee', 'id'), False), (('is_open', 'id'), False), (('is_open', 'priority', 'id'), False), (('customer', 'id'), False), (('requester', 'id'), False), (('status', 'id'), False))
    db.create_tables([Ticket])

    class Comment(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        author = ForeignKeyField(User, null=True, on_delete='SET NULL')
        author_kind = CharField(max_length=16)
        internal = BooleanField(default=False)
        body = TextField()
        channel = CharField(max_length=16, default='web')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'comment'
            indexes = ((('ticket', 'id'), False),)
    db.create_tables([Comment])

    class Attachment(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        comment = ForeignKeyField(Comment, null=True, on_delete='SET NULL')
        filename = CharField()
        storage_name = CharField(unique=True, max_length=64)
        content_type = CharField(max_length=100)
        size = IntegerField()
        sha256 = CharField(max_length=64)
        internal = BooleanField(default=False)
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'attachment'
    db.create_tables([Attachment])

    class CustomerContact(Model):
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        kind = CharField(max_length=16)
        value = CharField(max_length=254)
        label = CharField(max_length=64, default='')
        class Meta:
            database = db
            table_name = 'customer_contact'
            indexes = ((('kind', 'value'), False),)
    db.create_tables([CustomerContact])

    class CustomFieldDef(Model):
        key = CharField(unique=True, max_length=64)
        label = CharField(max_length=100)
        kind = CharField(max_length=16)
        options = JSONField(default=list)
        required = BooleanField(default=False)
        active = BooleanField(default=True)
        position = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'custom_field_def'
    db.create_tables([CustomFieldDef])

    class Job(Model):
        name = CharField(max_length=64)
        object_id = IntegerField()
        created_at = DateTimeField()
        enqueued_at = DateTimeField()
        done_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        last_error = TextField(default='')
        class Meta:
            database = db
            table_name = 'job'
            indexes = ((('done_at', 'enqueued_at'), False),)
    db.create_tables([Job])

    class NumberSequence(Model):
        year = IntegerField(primary_key=True)
        last = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'number_sequence'
    db.create_tables([NumberSequence])

    class SavedFilter(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=100)
        query = JSONField(default=dict)
        class Meta:
            database = db
            table_name = 'saved_filter'
            indexes = ((('user', 'name'), True),)
    db.create_tables([SavedFilter])

    class Team(Model):
        department = ForeignKeyField(Department, on_delete='CASCADE')
        name = CharField(max_length=100)
        class Meta:
            database = db
            table_name = 'team'
            indexes = ((('department', 'name'), True),)
    db.create_tables([Team])

    class TeamMember(Model):
        team = ForeignKeyField(Team, on_delete='CASCADE')
        user = ForeignKeyField(User, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'team_member'
            indexes = ((('team', 'user'), True),)
    db.create_tables([TeamMember])

    class TicketLink(Model):
        source = ForeignKeyField(Ticket, on_delete='CASCADE')
        target = ForeignKeyField(Ticket, on_delete='CASCADE')
        kind = CharField(max_length=16)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'ticket_link'
            indexes = ((('source', 'target', 'kind'), True), (('target', 'kind'), False))
    db.create_tables([TicketLink])

    class TicketTag(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        tag = CharField(max_length=64)
        class Meta:
            database = db
            table_name = 'ticket_tag'
            indexes = ((('ticket', 'tag'), True), (('tag', 'ticket'), False))
    db.create_tables([TicketTag])

    class TimelineEvent(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        actor = ForeignKeyField(User, null=True, on_delete='SET NULL')
        kind = CharField(max_length=32)
        field = CharField(max_length=64, default='')
        before = JSONField(null=True)
        after = JSONField(null=True)
        internal = BooleanField(default=False)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'timeline_event'
            indexes = ((('ticket', 'id'), False),)
    db.create_tables([TimelineEvent])

    class UserSession(Model):
        id_hash = CharField(primary_key=True, max_length=64)
        user = ForeignKeyField(User, on_delete='CASCADE')
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        ip = CharField(max_length=64, default='')
        user_agent = CharField(default='')
        revoked = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'user_session'
    db.create_tables([UserSession])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('user_session'))
    migrator.migrate(migrator.drop_table('timeline_event'))
    migrator.migrate(migrator.drop_table('ticket_tag'))
    migrator.migrate(migrator.drop_table('ticket_link'))
    migrator.migrate(migrator.drop_table('team_member'))
    migrator.migrate(migrator.drop_table('team'))
    migrator.migrate(migrator.drop_table('saved_filter'))
    migrator.migrate(migrator.drop_table('number_sequence'))
    migrator.migrate(migrator.drop_table('job'))
    migrator.migrate(migrator.drop_table('custom_field_def'))
    migrator.migrate(migrator.drop_table('customer_contact'))
    migrator.migrate(migrator.drop_table('attachment'))
    migrator.migrate(migrator.drop_table('comment'))
    migrator.migrate(migrator.drop_table('ticket'))
    migrator.migrate(migrator.drop_table('category'))
    migrator.migrate(migrator.drop_table('api_token'))
    migrator.migrate(migrator.drop_table('agent_skill'))
    migrator.migrate(migrator.drop_table('skill'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('customer'))
    migrator.migrate(migrator.drop_table('department'))
