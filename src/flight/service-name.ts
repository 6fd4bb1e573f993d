/** The fully qualified gRPC name of Arrow Flight's service. */
export const SERVICE_NAME = 'arrow.flight.protocol.FlightService';
