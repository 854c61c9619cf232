"""The misallocation levy's services (workflows.levy): surveys, households and evidence, computation, notices,
objections and changes, payments."""
