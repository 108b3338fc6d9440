"""Twilio, as infrastructure: the REST client, request signatures, TwiML, the one POST that
places a call, the one POST that sends a text, and the pacing of dials.

Nothing here knows a customer, a call row or a promise: the apps above decide what to say,
whom to call and what an answer means; this package only speaks Twilio's protocols. It sits
just above `core` in the layers (.importlinter) and imports nothing else of ours.
"""
