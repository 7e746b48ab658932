"""The facilitator report: agreement between roles, keyword groups, the HTML page."""
