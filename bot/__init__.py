"""The running program: settings, command line, Bot and Dispatcher, the poller that
stores every update before acknowledging it, the outbox sender and the scheduler."""
