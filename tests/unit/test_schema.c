/*
 * Unit tests for src/ocpp/schema: one table of payloads, each with the
 * verdict, path and (where it matters) description it must get; then the
 * CallError spellings, the action lists, and the edges of the error
 * reporting. The conformance with an independent validator over every
 * message is tests/integration/schema.test.js.
 *
 * Payloads in the table are JSON written with ' for " (none of them needs
 * a real '), to keep them readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ocpp/schema.h"
#include "tests/unit/quoted.h"

#define V16	OCPP_V16
#define V201	OCPP_V201
#define REQ	SCHEMA_REQUEST
#define CONF	SCHEMA_RESPONSE

struct schema_case {
	const char *name;
	enum ocpp_version v;
	const char *action;
	enum schema_kind kind;
	const char *json;	/* ' for " */
	int rc;
	const char *path;	/* expected err.path when rc != SCHEMA_OK */
	const char *desc;	/* expected err.description, NULL: not checked */
};

#define OK(name, v, action, kind, json) \
	{ name, v, action, kind, json, SCHEMA_OK, "", NULL }

static const struct schema_case cases[] = {
	/* ---------------------------------------------------- 1.6, valid */
	OK("1.6 boot, optional absent", V16, "BootNotification", REQ,
	    "{'chargePointVendor':'Acme','chargePointModel':'AC22'}"),
	OK("1.6 boot, all present", V16, "BootNotification", REQ,
	    "{'chargePointVendor':'Acme','chargePointModel':'AC22',"
	    "'chargePointSerialNumber':'S1','chargeBoxSerialNumber':'B1',"
	    "'firmwareVersion':'1.2.3','iccid':'8944','imsi':'2620',"
	    "'meterType':'DZG','meterSerialNumber':'M1'}"),
	OK("1.6 boot.conf", V16, "BootNotification", CONF,
	    "{'status':'Pending','currentTime':'2026-07-21T10:00:00.123+02:00',"
	    "'interval':300}"),
	OK("1.6 heartbeat", V16, "Heartbeat", REQ, "{}"),
	OK("1.6 heartbeat.conf", V16, "Heartbeat", CONF,
	    "{'currentTime':'2026-07-21T10:00:00Z'}"),
	OK("1.6 authorize, 20 characters in 40 bytes", V16, "Authorize", REQ,
	    "{'idTag':'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'}"),
	OK("1.6 authorize.conf, all present", V16, "Authorize", CONF,
	    "{'idTagInfo':{'status':'Accepted','expiryDate':'2027-01-01T00:00:00Z',"
	    "'parentIdTag':'FLEET'}}"),
	OK("1.6 status, all present", V16, "StatusNotification", REQ,
	    "{'connectorId':1,'errorCode':'NoError','info':'ok','status':'Charging',"
	    "'timestamp':'2026-07-21T10:00:00Z','vendorId':'acme',"
	    "'vendorErrorCode':'E0'}"),
	OK("1.6 start", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'TAG1','meterStart':0,'reservationId':3,"
	    "'timestamp':'2026-07-21T10:00:00Z'}"),
	OK("1.6 start.conf", V16, "StartTransaction", CONF,
	    "{'idTagInfo':{'status':'ConcurrentTx'},'transactionId':17}"),
	OK("1.6 stop, Hertz in transactionData (errata v4)", V16,
	    "StopTransaction", REQ,
	    "{'meterStop':1500,'timestamp':'2026-07-21T11:00:00Z','transactionId':17,"
	    "'idTag':'TAG1','reason':'EVDisconnected','transactionData':["
	    "{'timestamp':'2026-07-21T11:00:00Z','sampledValue':[]},"
	    "{'timestamp':'2026-07-21T11:00:00Z','sampledValue':["
	    "{'value':'50','unit':'Hertz','measurand':'Frequency'}]}]}"),
	OK("1.6 meter values, all present", V16, "MeterValues", REQ,
	    "{'connectorId':1,'transactionId':17,'meterValue':[{'timestamp':"
	    "'2026-07-21T10:05:00Z','sampledValue':[{'value':'16.0',"
	    "'context':'Sample.Periodic','format':'Raw','measurand':'Current.Import',"
	    "'phase':'L1','location':'Outlet','unit':'A'},{'value':'1234',"
	    "'measurand':'Energy.Active.Import.Register','unit':'Wh'},"
	    "{'value':'230','measurand':'Voltage','phase':'L1-N','unit':'V'}]}]}"),
	OK("1.6 data transfer", V16, "DataTransfer", REQ,
	    "{'vendorId':'com.acme','messageId':'m','data':'{\\'x\\':1}'}"),
	OK("1.6 data transfer.conf", V16, "DataTransfer", CONF,
	    "{'status':'UnknownVendorId'}"),
	OK("1.6 security event", V16, "SecurityEventNotification", REQ,
	    "{'type':'FirmwareUpdated','timestamp':'2026-07-21T10:00:00Z',"
	    "'techInfo':'v2'}"),
	OK("1.6 log status", V16, "LogStatusNotification", REQ,
	    "{'status':'Uploaded','requestId':4}"),
	OK("1.6 set profile, limits in tenths", V16, "SetChargingProfile", REQ,
	    "{'connectorId':1,'csChargingProfiles':{'chargingProfileId':1,"
	    "'stackLevel':0,'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Recurring','recurrencyKind':'Daily',"
	    "'validFrom':'2026-07-21T00:00:00Z','validTo':'2027-07-21T00:00:00Z',"
	    "'chargingSchedule':{'duration':86400,'startSchedule':"
	    "'2026-07-21T00:00:00Z','chargingRateUnit':'A','minChargingRate':6.1,"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':0.3},"
	    "{'startPeriod':3600,'limit':16,'numberPhases':3},"
	    "{'startPeriod':7200,'limit':10.7}]}}}"),
	OK("1.6 composite schedule.conf", V16, "GetCompositeSchedule", CONF,
	    "{'status':'Accepted','connectorId':0,'scheduleStart':"
	    "'2026-07-21T00:00:00Z','chargingSchedule':{'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':11000.5}]}}"),
	OK("1.6 configuration.conf", V16, "GetConfiguration", CONF,
	    "{'configurationKey':[{'key':'HeartbeatInterval','readonly':false,"
	    "'value':'300'}],'unknownKey':['Foo','Bar']}"),
	OK("1.6 diagnostics to a URI", V16, "GetDiagnostics", REQ,
	    "{'location':'ftp://u:p@10.0.0.1:21/diag/?x=1#y','retries':3}"),
	OK("1.6 trigger (security extension)", V16, "ExtendedTriggerMessage",
	    REQ, "{'requestedMessage':'SignChargePointCertificate'}"),
	OK("1.6 1.0 is an integer", V16, "ChangeAvailability", REQ,
	    "{'connectorId':1.0,'type':'Inoperative'}"),

	/* ------------------------------------------------ 1.6, one rule each */
	{ "1.6 missing required", V16, "BootNotification", REQ,
	    "{'chargePointVendor':'Acme'}", SCHEMA_OCCURRENCE,
	    "chargePointModel", "chargePointModel: required field missing" },
	{ "1.6 wrong type", V16, "Authorize", REQ, "{'idTag':42}", SCHEMA_TYPE,
	    "idTag", "idTag: expected a string, got a number" },
	{ "1.6 integer given 1.5", V16, "BootNotification", CONF,
	    "{'status':'Accepted','currentTime':'2026-07-21T10:00:00Z',"
	    "'interval':1.5}", SCHEMA_TYPE, "interval",
	    "interval: expected an integer, got 1.5" },
	{ "1.6 integer given a string", V16, "StatusNotification", REQ,
	    "{'connectorId':'1','errorCode':'NoError','status':'Available'}",
	    SCHEMA_TYPE, "connectorId",
	    "connectorId: expected an integer, got a string" },
	{ "1.6 enum miss", V16, "StatusNotification", REQ,
	    "{'connectorId':1,'errorCode':'NoError','status':'available'}",
	    SCHEMA_PROPERTY, "status", "status: \"available\" is not one of "
	    "Available, Preparing, Charging, SuspendedEVSE, SuspendedEV, "
	    "Finishing, Reserved, Unavailable, Faulted" },
	{ "1.6 too long", V16, "Authorize", REQ,
	    "{'idTag':'123456789012345678901'}", SCHEMA_PROPERTY, "idTag",
	    "idTag: string longer than 20 characters" },
	{ "1.6 multipleOf 0.1 miss", V16, "SetChargingProfile", REQ,
	    "{'connectorId':1,'csChargingProfiles':{'chargingProfileId':1,"
	    "'stackLevel':0,'chargingProfilePurpose':'TxProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':{"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,"
	    "'limit':10.67}]}}}", SCHEMA_PROPERTY,
	    "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit",
	    NULL },
	{ "1.6 minChargingRate multipleOf", V16, "RemoteStartTransaction", REQ,
	    "{'idTag':'T','chargingProfile':{'chargingProfileId':1,"
	    "'stackLevel':0,'chargingProfilePurpose':'TxProfile',"
	    "'chargingProfileKind':'Relative','chargingSchedule':{"
	    "'chargingRateUnit':'W','minChargingRate':0.05,"
	    "'chargingSchedulePeriod':[]}}}", SCHEMA_PROPERTY,
	    "chargingProfile.chargingSchedule.minChargingRate",
	    "chargingProfile.chargingSchedule.minChargingRate: 0.05 is not a "
	    "multiple of 0.1" },
	{ "1.6 unknown property", V16, "Heartbeat", REQ, "{'time':1}",
	    SCHEMA_PROPERTY, "time", "time: unknown property" },
	{ "1.6 has no customData", V16, "Heartbeat", REQ,
	    "{'customData':{'vendorId':'acme'}}", SCHEMA_PROPERTY, "customData",
	    NULL },
	{ "1.6 keys are case-sensitive", V16, "Authorize", REQ,
	    "{'idtag':'T'}", SCHEMA_OCCURRENCE, "idTag", NULL },
	{ "1.6 bad date-time", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'T','meterStart':0,"
	    "'timestamp':'2026-07-21 10:00'}", SCHEMA_PROPERTY, "timestamp",
	    "timestamp: \"2026-07-21 10:00\" is not an RFC 3339 date-time" },
	{ "1.6 date-time without zone", V16, "Heartbeat", CONF,
	    "{'currentTime':'2026-07-21T10:00:00'}", SCHEMA_PROPERTY,
	    "currentTime", NULL },
	{ "1.6 nested enum in arrays", V16, "MeterValues", REQ,
	    "{'connectorId':1,'meterValue':[{'timestamp':'2026-07-21T10:05:00Z',"
	    "'sampledValue':[{'value':'1'},{'value':'2'},{'value':'3',"
	    "'unit':'Watts'}]}]}", SCHEMA_PROPERTY,
	    "meterValue[0].sampledValue[2].unit",
	    "meterValue[0].sampledValue[2].unit: \"Watts\" is not one of Wh, kWh, "
	    "varh, kvarh, W, kW, VA, kVA, var, kvar, A, V, K, Celcius, Celsius, "
	    "Fahrenheit, Percent, Hertz" },
	{ "1.6 nested missing in arrays", V16, "StopTransaction", REQ,
	    "{'meterStop':1,'timestamp':'2026-07-21T11:00:00Z','transactionId':1,"
	    "'transactionData':[{'timestamp':'2026-07-21T11:00:00Z',"
	    "'sampledValue':[{'value':'1'},{'unit':'Wh'}]}]}", SCHEMA_OCCURRENCE,
	    "transactionData[0].sampledValue[1].value", NULL },
	{ "1.6 nested missing in object", V16, "Authorize", CONF,
	    "{'idTagInfo':{'parentIdTag':'P'}}", SCHEMA_OCCURRENCE,
	    "idTagInfo.status", NULL },
	{ "1.6 no meter value", V16, "MeterValues", REQ,
	    "{'connectorId':1,'meterValue':[]}", SCHEMA_OCCURRENCE, "meterValue",
	    "meterValue: 0 items, fewer than the minimum 1" },
	{ "1.6 no sampled value", V16, "MeterValues", REQ,
	    "{'connectorId':1,'meterValue':[{'timestamp':'2026-07-21T10:05:00Z',"
	    "'sampledValue':[]}]}", SCHEMA_OCCURRENCE,
	    "meterValue[0].sampledValue", NULL },
	{ "1.6 array expected", V16, "MeterValues", REQ,
	    "{'connectorId':1,'meterValue':{'timestamp':'2026-07-21T10:05:00Z'}}",
	    SCHEMA_TYPE, "meterValue", "meterValue: expected an array, got an "
	    "object" },
	{ "1.6 object expected", V16, "Authorize", CONF, "{'idTagInfo':[]}",
	    SCHEMA_TYPE, "idTagInfo", NULL },
	{ "1.6 array of strings, one too long", V16, "GetConfiguration", CONF,
	    "{'unknownKey':['Foo','012345678901234567890123456789012345678901234567"
	    "890']}", SCHEMA_PROPERTY, "unknownKey[1]", NULL },
	{ "1.6 boolean expected", V16, "GetConfiguration", CONF,
	    "{'configurationKey':[{'key':'K','readonly':'false'}]}", SCHEMA_TYPE,
	    "configurationKey[0].readonly", NULL },
	{ "1.6 bad uri", V16, "UpdateFirmware", REQ,
	    "{'location':'fw.example.com/image.bin',"
	    "'retrieveDate':'2026-07-21T10:00:00Z'}", SCHEMA_PROPERTY, "location",
	    "location: \"fw.example.com/image.bin\" is not a URI" },
	{ "1.6 null is no string", V16, "StatusNotification", REQ,
	    "{'connectorId':1,'errorCode':'NoError','status':'Available',"
	    "'info':null}", SCHEMA_TYPE, "info",
	    "info: expected a string, got null" },
	{ "1.6 not an object", V16, "Heartbeat", REQ, "[]", SCHEMA_FORMAT, "",
	    "payload is not a JSON object" },
	{ "1.6 a string is no payload", V16, "Heartbeat", CONF, "'x'",
	    SCHEMA_FORMAT, "", NULL },
	{ "1.6 unknown action", V16, "TransactionEvent", REQ, "{}",
	    SCHEMA_UNKNOWN, "", "unknown action \"TransactionEvent\"" },

	/* -------------------------------------------------- 2.0.1, valid */
	OK("2.0.1 boot, optional absent", V201, "BootNotification", REQ,
	    "{'reason':'PowerUp','chargingStation':{'model':'M','vendorName':'V'}}"),
	OK("2.0.1 boot, all present", V201, "BootNotification", REQ,
	    "{'customData':{'vendorId':'acme','extra':[1,{'a':null}]},"
	    "'reason':'FirmwareUpdate','chargingStation':{'customData':"
	    "{'vendorId':'acme'},'serialNumber':'S','model':'M','vendorName':'V',"
	    "'firmwareVersion':'1','modem':{'iccid':'1','imsi':'2'}}}"),
	OK("2.0.1 boot.conf", V201, "BootNotification", CONF,
	    "{'currentTime':'2026-07-21T10:00:00Z','interval':60,'status':'Rejected',"
	    "'statusInfo':{'reasonCode':'Unknown','additionalInfo':'who?'}}"),
	OK("2.0.1 heartbeat", V201, "Heartbeat", REQ, "{}"),
	OK("2.0.1 authorize", V201, "Authorize", REQ,
	    "{'idToken':{'idToken':'04A2B3','type':'ISO14443','additionalInfo':"
	    "[{'additionalIdToken':'x','type':'y'}]},"
	    "'iso15118CertificateHashData':[{'hashAlgorithm':'SHA256',"
	    "'issuerNameHash':'a','issuerKeyHash':'b','serialNumber':'c',"
	    "'responderURL':'http://ocsp'}]}"),
	OK("2.0.1 transaction event", V201, "TransactionEvent", REQ,
	    "{'eventType':'Updated','timestamp':'2026-07-21T10:00:00Z',"
	    "'triggerReason':'MeterValuePeriodic','seqNo':4,'offline':true,"
	    "'numberOfPhasesUsed':3,'cableMaxCurrent':32,'reservationId':1,"
	    "'transactionInfo':{'transactionId':'tx-1','chargingState':'Charging',"
	    "'timeSpentCharging':60,'stoppedReason':'Local','remoteStartId':2},"
	    "'idToken':{'idToken':'T','type':'Local'},'evse':{'id':1,"
	    "'connectorId':1},'meterValue':[{'timestamp':'2026-07-21T10:00:00Z',"
	    "'sampledValue':[{'value':16.5,'measurand':'Current.Import',"
	    "'phase':'L1','unitOfMeasure':{'unit':'A','multiplier':0}}]}]}"),
	OK("2.0.1 data transfer, data of any type", V201, "DataTransfer", REQ,
	    "{'vendorId':'com.acme','data':{'nested':[1,'two',null]}}"),
	OK("2.0.1 notify ev charging needs, SoC bounds", V201,
	    "NotifyEVChargingNeeds", REQ,
	    "{'evseId':1,'chargingNeeds':{'requestedEnergyTransfer':'DC',"
	    "'dcChargingParameters':{'evMaxCurrent':100,'evMaxVoltage':400,"
	    "'stateOfCharge':0,'fullSoC':100,'bulkSoC':80}}}"),
	OK("2.0.1 get variables.conf", V201, "GetVariables", CONF,
	    "{'getVariableResult':[{'attributeStatus':'Accepted',"
	    "'attributeValue':'true','component':{'name':'SmartChargingCtrlr',"
	    "'evse':{'id':1}},'variable':{'name':'Enabled'}}]}"),

	/* ---------------------------------------------- 2.0.1, one rule each */
	{ "2.0.1 customData without vendorId", V201, "Heartbeat", REQ,
	    "{'customData':{'x':1}}", SCHEMA_OCCURRENCE, "customData.vendorId",
	    "customData.vendorId: required field missing" },
	{ "2.0.1 nested customData without vendorId", V201,
	    "BootNotification", REQ,
	    "{'reason':'PowerUp','chargingStation':{'model':'M','vendorName':'V',"
	    "'modem':{'customData':{}}}}", SCHEMA_OCCURRENCE,
	    "chargingStation.modem.customData.vendorId", NULL },
	{ "2.0.1 customData vendorId too long", V201, "Heartbeat", CONF,
	    "{'currentTime':'2026-07-21T10:00:00Z','customData':{'vendorId':'"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "'}}", SCHEMA_PROPERTY, "customData.vendorId", NULL },
	{ "2.0.1 customData not an object", V201, "Heartbeat", REQ,
	    "{'customData':'acme'}", SCHEMA_TYPE, "customData", NULL },
	{ "2.0.1 below minimum", V201, "NotifyEVChargingNeeds", REQ,
	    "{'evseId':1,'chargingNeeds':{'requestedEnergyTransfer':'DC',"
	    "'dcChargingParameters':{'evMaxCurrent':100,'evMaxVoltage':400,"
	    "'stateOfCharge':-1}}}", SCHEMA_PROPERTY,
	    "chargingNeeds.dcChargingParameters.stateOfCharge",
	    "chargingNeeds.dcChargingParameters.stateOfCharge: -1 is below the "
	    "minimum 0" },
	{ "2.0.1 above maximum", V201, "NotifyEVChargingNeeds", REQ,
	    "{'evseId':1,'chargingNeeds':{'requestedEnergyTransfer':'DC',"
	    "'dcChargingParameters':{'evMaxCurrent':100,'evMaxVoltage':400,"
	    "'bulkSoC':101}}}", SCHEMA_PROPERTY,
	    "chargingNeeds.dcChargingParameters.bulkSoC", NULL },
	{ "2.0.1 number given a string", V201, "MeterValues", REQ,
	    "{'evseId':1,'meterValue':[{'timestamp':'2026-07-21T10:00:00Z',"
	    "'sampledValue':[{'value':'16.5'}]}]}", SCHEMA_TYPE,
	    "meterValue[0].sampledValue[0].value",
	    "meterValue[0].sampledValue[0].value: expected a number, got a "
	    "string" },
	{ "2.0.1 minItems", V201, "GetVariables", REQ, "{'getVariableData':[]}",
	    SCHEMA_OCCURRENCE, "getVariableData", NULL },
	{ "2.0.1 maxItems", V201, "SetChargingProfile", REQ,
	    "{'evseId':0,'chargingProfile':{'id':1,'stackLevel':0,"
	    "'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':"
	    "'Absolute','chargingSchedule':["
	    "{'id':1,'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]},"
	    "{'id':2,'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]},"
	    "{'id':3,'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]},"
	    "{'id':4,'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':0,'limit':6}]}"
	    "]}}", SCHEMA_OCCURRENCE, "chargingProfile.chargingSchedule",
	    "chargingProfile.chargingSchedule: 4 items, more than the maximum 3" },
	OK("2.0.1 has no multipleOf", V201, "SetChargingProfile", REQ,
	    "{'evseId':0,'chargingProfile':{'id':1,'stackLevel':0,"
	    "'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':"
	    "'Absolute','chargingSchedule':[{'id':1,'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':10.67}]}]}}"),
	{ "2.0.1 enum miss deep", V201, "TransactionEvent", REQ,
	    "{'eventType':'Started','timestamp':'2026-07-21T10:00:00Z',"
	    "'triggerReason':'Authorized','seqNo':0,'transactionInfo':"
	    "{'transactionId':'t'},'idToken':{'idToken':'T','type':'RFID'}}",
	    SCHEMA_PROPERTY, "idToken.type", NULL },
	{ "2.0.1 unknown property deep", V201, "GetVariables", CONF,
	    "{'getVariableResult':[{'attributeStatus':'Accepted','component':"
	    "{'name':'C','evse':{'id':1,'connector':1}},'variable':{'name':'V'}}]}",
	    SCHEMA_PROPERTY, "getVariableResult[0].component.evse.connector",
	    "getVariableResult[0].component.evse.connector: unknown property" },
	{ "2.0.1 integer array element", V201, "GetChargingProfiles", REQ,
	    "{'requestId':1,'chargingProfile':{'chargingProfileId':[1,2.5]}}",
	    SCHEMA_TYPE, "chargingProfile.chargingProfileId[1]", NULL },
	/* -------------------- numbers beyond what OCPP's types and the model
	 * hold (schema.h): integers are 32 bits, 1.6 energy registers 0..1e15
	 * Wh, decimal numbers finite and within +-1e15. */
	OK("1.6 integer at the top of 32 bits", V16, "StatusNotification", REQ,
	    "{'connectorId':2147483647,'errorCode':'NoError','status':'Available'}"),
	OK("1.6 integer at the bottom of 32 bits", V16, "StatusNotification", REQ,
	    "{'connectorId':-2147483648,'errorCode':'NoError','status':'Available'}"),
	{ "1.6 integer 2^31", V16, "StatusNotification", REQ,
	    "{'connectorId':2147483648,'errorCode':'NoError','status':'Available'}",
	    SCHEMA_PROPERTY, "connectorId", "connectorId: 2147483648 is outside "
	    "the 32-bit range of an OCPP integer" },
	{ "1.6 integer below 32 bits", V16, "StatusNotification", REQ,
	    "{'connectorId':-2147483649,'errorCode':'NoError','status':'Available'}",
	    SCHEMA_PROPERTY, "connectorId", NULL },
	{ "1.6 integer 1e300", V16, "StatusNotification", REQ,
	    "{'connectorId':1e300,'errorCode':'NoError','status':'Available'}",
	    SCHEMA_PROPERTY, "connectorId", "connectorId: 1e+300 is outside the "
	    "32-bit range of an OCPP integer" },
	{ "1.6 integer overflowing a double", V16, "StatusNotification", REQ,
	    "{'connectorId':1e999,'errorCode':'NoError','status':'Available'}",
	    SCHEMA_PROPERTY, "connectorId", NULL },
	{ "1.6 integer in a response", V16, "StartTransaction", CONF,
	    "{'idTagInfo':{'status':'Accepted'},'transactionId':4294967296}",
	    SCHEMA_PROPERTY, "transactionId", NULL },
	OK("1.6 meterStart 1e15 Wh", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'T','meterStart':1e15,"
	    "'timestamp':'2026-07-21T10:00:00Z'}"),
	OK("1.6 meterStart beyond 32 bits", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'T','meterStart':3000000000,"
	    "'timestamp':'2026-07-21T10:00:00Z'}"),
	{ "1.6 meterStart 1e308", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'T','meterStart':1e308,"
	    "'timestamp':'2026-07-21T10:00:00Z'}", SCHEMA_PROPERTY, "meterStart",
	    "meterStart: 1e+308 is outside 0 to 1e+15 (an energy register in Wh)" },
	{ "1.6 meterStart one above 1e15", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'T','meterStart':1000000000000001,"
	    "'timestamp':'2026-07-21T10:00:00Z'}", SCHEMA_PROPERTY, "meterStart",
	    NULL },
	{ "1.6 meterStart negative", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'T','meterStart':-1,"
	    "'timestamp':'2026-07-21T10:00:00Z'}", SCHEMA_PROPERTY, "meterStart",
	    NULL },
	{ "1.6 meterStart a fraction", V16, "StartTransaction", REQ,
	    "{'connectorId':1,'idTag':'T','meterStart':1.5,"
	    "'timestamp':'2026-07-21T10:00:00Z'}", SCHEMA_TYPE, "meterStart",
	    NULL },
	{ "1.6 meterStop 1e300", V16, "StopTransaction", REQ,
	    "{'meterStop':1e300,'timestamp':'2026-07-21T11:00:00Z',"
	    "'transactionId':17}", SCHEMA_PROPERTY, "meterStop", NULL },
	{ "1.6 limit beyond 1e15", V16, "GetCompositeSchedule", CONF,
	    "{'status':'Accepted','chargingSchedule':{'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':1e300}]}}",
	    SCHEMA_PROPERTY, "chargingSchedule.chargingSchedulePeriod[0].limit",
	    NULL },
	OK("2.0.1 meter value 1e15", V201, "MeterValues", REQ,
	    "{'evseId':1,'meterValue':[{'timestamp':'2026-07-21T10:00:00Z',"
	    "'sampledValue':[{'value':-1e15}]}]}"),
	{ "2.0.1 meter value beyond 1e15", V201, "MeterValues", REQ,
	    "{'evseId':1,'meterValue':[{'timestamp':'2026-07-21T10:00:00Z',"
	    "'sampledValue':[{'value':1},{'value':1.5e15}]}]}", SCHEMA_PROPERTY,
	    "meterValue[0].sampledValue[1].value",
	    "meterValue[0].sampledValue[1].value: 1.5e+15 is outside -1e+15 to "
	    "1e+15" },
	{ "2.0.1 meter value overflowing a double", V201, "MeterValues", REQ,
	    "{'evseId':1,'meterValue':[{'timestamp':'2026-07-21T10:00:00Z',"
	    "'sampledValue':[{'value':-1e999}]}]}", SCHEMA_PROPERTY,
	    "meterValue[0].sampledValue[0].value", NULL },
	{ "2.0.1 seqNo beyond 32 bits", V201, "TransactionEvent", REQ,
	    "{'eventType':'Started','timestamp':'2026-07-21T10:00:00Z',"
	    "'triggerReason':'Authorized','seqNo':2147483648,'transactionInfo':"
	    "{'transactionId':'t'}}", SCHEMA_PROPERTY, "seqNo", NULL },
	{ "2.0.1 evse id beyond 32 bits", V201, "TransactionEvent", REQ,
	    "{'eventType':'Started','timestamp':'2026-07-21T10:00:00Z',"
	    "'triggerReason':'Authorized','seqNo':0,'transactionInfo':"
	    "{'transactionId':'t'},'evse':{'id':1e10}}", SCHEMA_PROPERTY,
	    "evse.id", NULL },
	{ "2.0.1 minimum 0, no maximum: still 32 bits", V201,
	    "SetChargingProfile", REQ,
	    "{'evseId':0,'chargingProfile':{'id':1,'stackLevel':0,"
	    "'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':"
	    "'Absolute','chargingSchedule':[{'id':1,'chargingRateUnit':'A',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':10}],"
	    "'salesTariff':{'id':1,'salesTariffEntry':[{'relativeTimeInterval':"
	    "{'start':0},'ePriceLevel':2147483648}]}}]}}", SCHEMA_PROPERTY,
	    "chargingProfile.chargingSchedule[0].salesTariff.salesTariffEntry[0]"
	    ".ePriceLevel", NULL },
	{ "2.0.1 not an object", V201, "Heartbeat", REQ, "null", SCHEMA_FORMAT,
	    "", NULL },
	{ "2.0.1 unknown action", V201, "StartTransaction", REQ, "{}",
	    SCHEMA_UNKNOWN, "", NULL },
};

static void
test_table(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct schema_case *c = &cases[i];
		struct schema_error err;
		cJSON *payload = parse_quoted(c->json);

		if (payload == NULL) {
			print_error("%s: test payload is not JSON\n", c->name);
			failures++;
			continue;
		}
		int rc = schema_validate(c->v, c->action, c->kind, payload, &err);
		cJSON_Delete(payload);
		if (rc != c->rc || strcmp(err.path, c->path) != 0 ||
		    (c->desc != NULL && strcmp(err.description, c->desc) != 0) ||
		    (rc == SCHEMA_OK && err.description[0] != '\0')) {
			print_error("%s: got %d at \"%s\" (%s), want %d at \"%s\"%s%s\n",
			    c->name, rc, err.path, err.description, c->rc,
			    c->path, c->desc != NULL ? " " : "",
			    c->desc != NULL ? c->desc : "");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_codes(void **state)
{
	(void)state;
	/* Each violation maps onto one CallError; types/ocpp spells it. */
	assert_int_equal(schema_errcode(SCHEMA_OCCURRENCE), OCPP_ERR_OCCURRENCE);
	assert_int_equal(schema_errcode(SCHEMA_TYPE), OCPP_ERR_TYPE);
	assert_int_equal(schema_errcode(SCHEMA_PROPERTY), OCPP_ERR_PROPERTY);
	assert_int_equal(schema_errcode(SCHEMA_FORMAT), OCPP_ERR_FORMAT);
	assert_int_equal(schema_errcode(SCHEMA_UNKNOWN),
	    OCPP_ERR_NOT_IMPLEMENTED);
	assert_int_equal(schema_errcode(SCHEMA_OK), OCPP_ERR_OTHER);
	assert_int_equal(schema_errcode(-99), OCPP_ERR_OTHER);
	assert_string_equal(ocpp_errcode_name(schema_errcode(SCHEMA_OCCURRENCE),
	    V16), "OccurenceConstraintViolation");
	assert_string_equal(ocpp_errcode_name(schema_errcode(SCHEMA_OCCURRENCE),
	    V201), "OccurrenceConstraintViolation");
	assert_string_equal(ocpp_errcode_name(schema_errcode(SCHEMA_FORMAT),
	    V16), "FormationViolation");
	assert_string_equal(ocpp_errcode_name(schema_errcode(SCHEMA_FORMAT),
	    V201), "FormatViolation");
}

/* Every action of both versions is known, in both kinds; an empty object
 * is either valid or lacks a required field, never anything else. */
static void
test_every_action(void **state)
{
	static const char *const a16[] = {
		"Authorize", "BootNotification", "CancelReservation",
		"CertificateSigned", "ChangeAvailability", "ChangeConfiguration",
		"ClearCache", "ClearChargingProfile", "DataTransfer",
		"DeleteCertificate", "DiagnosticsStatusNotification",
		"ExtendedTriggerMessage", "FirmwareStatusNotification",
		"GetCompositeSchedule", "GetConfiguration", "GetDiagnostics",
		"GetInstalledCertificateIds", "GetLocalListVersion", "GetLog",
		"Heartbeat", "InstallCertificate", "LogStatusNotification",
		"MeterValues", "RemoteStartTransaction", "RemoteStopTransaction",
		"ReserveNow", "Reset", "SecurityEventNotification",
		"SendLocalList", "SetChargingProfile", "SignCertificate",
		"SignedFirmwareStatusNotification", "SignedUpdateFirmware",
		"StartTransaction", "StatusNotification", "StopTransaction",
		"TriggerMessage", "UnlockConnector", "UpdateFirmware", NULL
	};
	static const char *const a201[] = {
		"Authorize", "BootNotification", "CancelReservation",
		"CertificateSigned", "ChangeAvailability", "ClearCache",
		"ClearChargingProfile", "ClearDisplayMessage",
		"ClearVariableMonitoring", "ClearedChargingLimit", "CostUpdated",
		"CustomerInformation", "DataTransfer", "DeleteCertificate",
		"FirmwareStatusNotification", "Get15118EVCertificate",
		"GetBaseReport", "GetCertificateStatus", "GetChargingProfiles",
		"GetCompositeSchedule", "GetDisplayMessages",
		"GetInstalledCertificateIds", "GetLocalListVersion", "GetLog",
		"GetMonitoringReport", "GetReport", "GetTransactionStatus",
		"GetVariables", "Heartbeat", "InstallCertificate",
		"LogStatusNotification", "MeterValues", "NotifyChargingLimit",
		"NotifyCustomerInformation", "NotifyDisplayMessages",
		"NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent",
		"NotifyMonitoringReport", "NotifyReport", "PublishFirmware",
		"PublishFirmwareStatusNotification", "ReportChargingProfiles",
		"RequestStartTransaction", "RequestStopTransaction",
		"ReservationStatusUpdate", "ReserveNow", "Reset",
		"SecurityEventNotification", "SendLocalList", "SetChargingProfile",
		"SetDisplayMessage", "SetMonitoringBase", "SetMonitoringLevel",
		"SetNetworkProfile", "SetVariableMonitoring", "SetVariables",
		"SignCertificate", "StatusNotification", "TransactionEvent",
		"TriggerMessage", "UnlockConnector", "UnpublishFirmware",
		"UpdateFirmware", NULL
	};
	static const struct { enum ocpp_version v; const char *const *a;
	    int n; } sets[] = { { V16, a16, 39 }, { V201, a201, 64 } };
	cJSON *empty = cJSON_CreateObject();

	(void)state;
	for (size_t s = 0; s < 2; s++) {
		int n = 0;
		for (const char *const *a = sets[s].a; *a != NULL; a++, n++) {
			assert_true(schema_has_action(sets[s].v, *a));
			for (int k = REQ; k <= CONF; k++) {
				int rc = schema_validate(sets[s].v, *a, k, empty, NULL);
				if (rc != SCHEMA_OK && rc != SCHEMA_OCCURRENCE)
					fail_msg("%s: %d", *a, rc);
			}
		}
		assert_int_equal(n, sets[s].n);
	}
	cJSON_Delete(empty);
	assert_true(schema_has_action(V16, "StartTransaction"));
	assert_false(schema_has_action(V201, "StartTransaction"));
	assert_false(schema_has_action(V16, "TransactionEvent"));
	assert_false(schema_has_action(V16, "heartbeat"));
	assert_false(schema_has_action(V16, ""));
	assert_false(schema_has_action(V16, NULL));
	assert_false(schema_has_action((enum ocpp_version)7, "Heartbeat"));
}

/* What comes from the charger is cut short and escaped in the error; the
 * path never overflows. */
static void
test_error_edges(void **state)
{
	struct schema_error err;
	cJSON *p = cJSON_CreateObject();
	char name[300];

	(void)state;
	/* NULL err and NULL payload are fine */
	assert_int_equal(schema_validate(V16, "Heartbeat", REQ, NULL, NULL),
	    SCHEMA_FORMAT);
	assert_int_equal(schema_validate(V16, NULL, REQ, p, &err),
	    SCHEMA_UNKNOWN);

	/* a long unknown key with control characters */
	memset(name, 'k', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	name[3] = '\n';
	name[5] = '"';
	cJSON_AddNumberToObject(p, name, 1);
	assert_int_equal(schema_validate(V16, "Heartbeat", REQ, p, &err),
	    SCHEMA_PROPERTY);
	assert_true(strlen(err.path) < sizeof(err.path));
	assert_null(strchr(err.path, '\n'));
	assert_non_null(strstr(err.path, "kkk\\x0ak\\\"kk"));
	assert_non_null(strstr(err.description, "...: unknown property"));
	cJSON_Delete(p);

	/* an enum value with a newline, longer than what is quoted */
	p = parse_quoted("{'type':'Hard\\nHard Hard Hard Hard Hard Hard Hard Hard "
	    "Hard Hard'}");
	assert_int_equal(schema_validate(V16, "Reset", REQ, p, &err),
	    SCHEMA_PROPERTY);
	assert_string_equal(err.description, "type: \"Hard\\x0aHard Hard Hard "
	    "Hard Hard Hard Ha...\" is not one of Hard, Soft");
	cJSON_Delete(p);

	/* duplicate keys: each one is checked */
	p = cJSON_Parse("{\"idTag\":\"ok\",\"idTag\":7}");
	assert_int_equal(schema_validate(V16, "Authorize", REQ, p, &err),
	    SCHEMA_TYPE);
	cJSON_Delete(p);

	/* a deep path that needs most of the buffer still fits */
	p = parse_quoted("{'evseId':1,'chargingProfile':{'id':1,'stackLevel':0,"
	    "'chargingProfilePurpose':'TxProfile','chargingProfileKind':'Absolute',"
	    "'chargingSchedule':[{'id':1,'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':1}],"
	    "'salesTariff':{'id':1,'salesTariffEntry':[{'relativeTimeInterval':"
	    "{'start':0},'consumptionCost':[{'startValue':0,'cost':[{'costKind':"
	    "'CarbonDioxideEmission','amount':1,'amountMultiplier':0.5}]}]}]}}]}}");
	assert_int_equal(schema_validate(V201, "SetChargingProfile", REQ, p,
	    &err), SCHEMA_TYPE);
	assert_string_equal(err.path, "chargingProfile.chargingSchedule[0]."
	    "salesTariff.salesTariffEntry[0].consumptionCost[0].cost[0]."
	    "amountMultiplier");
	cJSON_Delete(p);
}

static void
test_has_action_all_versions(void **state)
{
	(void)state;
	assert_true(schema_has_action(OCPP_V16, "Heartbeat"));
	assert_true(schema_has_action(OCPP_V16, "Authorize"));
	assert_true(schema_has_action(OCPP_V16, "UpdateFirmware"));
	assert_true(schema_has_action(OCPP_V16, "StartTransaction"));
	assert_true(schema_has_action(OCPP_V16, "SignCertificate"));
	assert_false(schema_has_action(OCPP_V16, "TransactionEvent"));
	assert_true(schema_has_action(OCPP_V201, "TransactionEvent"));
	assert_true(schema_has_action(OCPP_V201, "Authorize"));
	assert_true(schema_has_action(OCPP_V201, "UpdateFirmware"));
	assert_true(schema_has_action(OCPP_V201, "NotifyEVChargingNeeds"));
	assert_false(schema_has_action(OCPP_V201, "StartTransaction"));
	assert_false(schema_has_action(OCPP_V201, "AFRRSignal"));
	assert_true(schema_has_action(OCPP_V21, "AFRRSignal"));
	assert_true(schema_has_action(OCPP_V21, "VatNumberValidation"));
	assert_true(schema_has_action(OCPP_V21, "NotifyPeriodicEventStream"));
	assert_false(schema_has_action(OCPP_V21, "heartbeat"));
	assert_false(schema_has_action(OCPP_V16, ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_has_action_all_versions),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_every_action),
		cmocka_unit_test(test_error_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
